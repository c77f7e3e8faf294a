"""Contract suites every backend must pass; subclass them in a backend's tests.

class TestMyBlobs(BlobStoreContract):
    @pytest.fixture
    def blobs(self, tmp_path):
        return MyBlobStore(tmp_path)
"""
