"""The facilitator's task queue: tasks opened and closed by the lifecycle, taken and done by
facilitators."""
