"""goal-rewriter: classify work goals and propose controllable (mastery) rewrites."""

__version__ = "0.1.0"
