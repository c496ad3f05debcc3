"""scikit-image's bundled sample images (textures and photographs), read without any download."""
from __future__ import annotations

import numpy as np

from ..errors import DataError, InvalidParameterError

__all__ = ["sample_image"]


def sample_image(name: str) -> np.ndarray:
    """The scikit-image sample image ``name`` (``brick``, ``grass``, ``gravel``, ``camera``, ...)
    as a grey float64 array in [0, 1]; colour images are converted to luminance."""
    try:
        from skimage import color, data, util
    except ImportError:
        raise DataError("scikit-image's sample images are needed: pip install 'scatlab[data]'.") from None
    loader = getattr(data, name, None)
    try:
        image = loader() if callable(loader) else None
    except Exception as exc:  # a sample that is not bundled needs a download, which scatlab never does
        raise DataError(f"scikit-image cannot load its sample image {name!r} ({exc}). Use a bundled one"
                        " such as brick, grass, gravel, camera, astronaut, coins, moon.") from None
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
        raise InvalidParameterError(f"{name!r} is not a scikit-image sample image. Use one such as camera, brick.")
    image = util.img_as_float(image)
    return color.rgb2gray(image[..., :3]) if image.ndim == 3 else image
