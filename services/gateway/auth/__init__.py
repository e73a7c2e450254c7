"""Who is asking: signed requests, bearer tokens and browser cookies, each proving an access key."""
