"""Running the bot in public: settings (the one reader of the environment), privacy (what is
masked before anything is kept), metrics, rate limits, the request guard, origins and
headers, the served assets, and the staff's report and FAQ suites.
"""
