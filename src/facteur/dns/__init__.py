"""The DNS records a hosted domain needs, as data with the reason for each (`facteur dns`)."""
