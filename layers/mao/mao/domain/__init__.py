"""Pure domain logic: parsing, detection, attribution, fixes, pricing. No AWS calls, no network."""
