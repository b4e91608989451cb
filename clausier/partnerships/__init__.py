"""Partnership conventions between buyers and structures, and the coverage they give."""
