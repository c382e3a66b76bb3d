"""The pure vocabulary the console and the simulator share, owned by neither.

The AMI frame codec, the contact-centre metric definitions, located TOML reading and the
training scenario format (with the shipped scenarios). Nothing here imports ``console`` or
``telephony_sim``, so each side can be installed and tested without the other.
"""
