"""penctl's controller: sessions, safety supervisor, journal, audit tools and the command line."""
