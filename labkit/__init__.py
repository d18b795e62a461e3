"""labkit: runnable notebooks for the duality of generative AI and RL in robotics."""

__version__ = "0.1.0"
