"""Framework data and the schema every framework follows."""
