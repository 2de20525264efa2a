"""Quality suites (data) by GB/T 36344 dimension, the runner, report and alerts."""
