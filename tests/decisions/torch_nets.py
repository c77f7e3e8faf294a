"""Small modules for the pytorch flavor tests, importable by their recorded class path.

Imported only by the tests that use them, so collecting the suite does not import torch."""

from __future__ import annotations

import torch
from torch import nn


class TinyNet(nn.Module):
    """Features -> hidden (tanh) -> one probability."""

    def __init__(self, features: int = 3, hidden: int = 4) -> None:
        super().__init__()
        self.hidden = nn.Linear(features, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.out(torch.tanh(self.hidden(x))))


class TwoScores(nn.Module):
    """Two outputs per row (say, the logits of two classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class NotAModule:
    """A class that is not an nn.Module: building it from stored metadata must be refused."""

    built = 0

    def __init__(self, **kwargs: object) -> None:
        NotAModule.built += 1
