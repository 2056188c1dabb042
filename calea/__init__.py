"""calea: a lawful-intercept collection system whose court authority is enforced by the code."""

__version__ = "0.1.0"
