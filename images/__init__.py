"""Berth's session images: their recipes, their local build, and the inventory agents report.

- ``python -m images build [NAMES...]`` builds ``berth-small``, ``berth-base`` and
  ``berth-python`` without any registry (``images.build``);
- ``images.inventory.list_images`` reads the local Berth images and their labels
  (``images.labels``) through podman-py;
- ``images.names.container_image_ref`` maps a Berth image name to its Podman reference.
"""
