"""Scripts that make the packaged data (the sample domains) and domains of other shapes; not shipped."""
