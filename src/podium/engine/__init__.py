"""The one training core: used by train, pseudo (student) and tune."""
