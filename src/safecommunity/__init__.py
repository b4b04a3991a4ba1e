"""Safe Community: community policing and grassroots governance."""
