"""Data objections (数据异议): consumers flag records they believe wrong; providers must answer in time."""
