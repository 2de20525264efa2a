"""The delivery generator and a small committed sample delivery."""
