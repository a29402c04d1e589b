"""ActiveLog: a personal multi-sport activity tracker."""

__version__ = "0.1.0"
