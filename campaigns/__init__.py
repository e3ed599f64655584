"""Call campaigns: calling windows and retries, workers that place the calls, telephony adapters."""
