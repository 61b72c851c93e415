"""One module per stage; each reads artifacts, writes artifacts, and reads top to bottom as
the story of that stage."""
