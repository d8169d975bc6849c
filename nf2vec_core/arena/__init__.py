"""The Neural Field Arena (paper 004): runs over image neural datasets, the studies and leaderboard."""
