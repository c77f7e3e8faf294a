"""The API's routes, one module per subject; each handler makes Registry calls only."""
