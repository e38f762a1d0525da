"""Documents: agreements, forms, the case file; rendering, signing, verification."""
