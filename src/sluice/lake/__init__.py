"""The lake: versions of every resource's data, ingested, validated, classified and written for serving."""
