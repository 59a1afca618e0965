"""What an action means, independent of where it was clicked: call backends, decide, return results."""
