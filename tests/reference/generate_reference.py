"""Generate tests/reference/kymatio_0_3_0.npz: outputs of the peer Kymatio 0.3.0 on small real inputs.

Run from the repository root, in an environment with kymatio==0.3.0 (``pip install -e .[peer,test]``)::

    python tests/reference/generate_reference.py

Inputs are stored as the original integers (uint8 image crops of scikit-image's ``camera`` and
``brick``; int16 samples of two FSDD recordings) and converted to float32 exactly as
:func:`to_float32` does, so the test feeds scatlab the very same float32 values Kymatio saw.
Outputs are stored as float32. Kymatio is used as a black box (its public torch frontends only).
"""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "kymatio_0_3_0.npz"
FSDD = HERE.parents[2] / "shared" / "data" / "fsdd" / "recordings"

# name -> (source, how the integers were obtained)
IMAGE_CROPS = {
    "camera_32x32": ("camera", 120, 200, 32, 32),
    "camera_30x41": ("camera", 100, 180, 30, 41),
    "brick_28x28": ("brick", 200, 100, 28, 28),
}
RECORDINGS = {  # first `length` samples of the recording ("truncated")
    "george0_2048": ("0_george_0.wav", 2048),
    "jackson0_1000": ("1_jackson_0.wav", 1000),
    "jackson0_777": ("1_jackson_0.wav", 777),
}
CONFIGS = [
    # name, kind, input, parameters (scatlab keyword names; Kymatio's are the same)
    ("2d_camera32_J2_L8", "2d", "camera_32x32", dict(J=2, L=8)),
    ("2d_camera30x41_J3_L6", "2d", "camera_30x41", dict(J=3, L=6)),
    ("2d_camera32_J5_L8", "2d", "camera_32x32", dict(J=5, L=8)),  # 2^J equals the size
    ("2d_brick28_J3_L4", "2d", "brick_28x28", dict(J=3, L=4)),
    ("1d_george2048_J6_Q8", "1d", "george0_2048", dict(J=6, Q=8)),
    ("1d_jackson1000_J5_Q8-2", "1d", "jackson0_1000", dict(J=5, Q=[8, 2])),
    ("1d_jackson777_J4_Q1_T8", "1d", "jackson0_777", dict(J=4, Q=1, T=8)),
]
SCALES = {"uint8": 255.0, "int16": 32768.0}


def to_float32(raw: np.ndarray) -> np.ndarray:
    """uint8 images / 255 and int16 samples / 32768, computed in float32."""
    return raw.astype(np.float32) / np.float32(SCALES[str(raw.dtype)])


def load_inputs() -> dict[str, np.ndarray]:
    from scipy.io import wavfile
    from skimage import data

    raw = {}
    for name, (image, top, left, h, w) in IMAGE_CROPS.items():
        raw[name] = np.ascontiguousarray(getattr(data, image)()[top : top + h, left : left + w])
        assert raw[name].dtype == np.uint8
    for name, (file, length) in RECORDINGS.items():
        rate, samples = wavfile.read(FSDD / file)
        assert rate == 8000 and samples.dtype == np.int16 and len(samples) >= length
        raw[name] = np.ascontiguousarray(samples[:length])
    return raw


def main() -> None:
    import kymatio
    import scipy
    import skimage
    import torch
    from kymatio.torch import Scattering1D, Scattering2D

    assert kymatio.__version__ == "0.3.0", kymatio.__version__
    raw = load_inputs()
    arrays = {f"input/{name}": value for name, value in raw.items()}
    for name, kind, source, params in CONFIGS:
        x = torch.from_numpy(to_float32(raw[source]))[None]  # a batch of one
        if kind == "2d":
            S = Scattering2D(J=params["J"], shape=tuple(x.shape[-2:]), L=params["L"])
        else:
            Q = tuple(params["Q"]) if isinstance(params["Q"], list) else params["Q"]
            S = Scattering1D(J=params["J"], shape=x.shape[-1], Q=Q, T=params.get("T"))
        with torch.no_grad():
            arrays[f"output/{name}"] = S(x).numpy().astype(np.float32)
    meta = {
        "configs": [dict(name=n, kind=k, input=s, params=p) for n, k, s, p in CONFIGS],
        "image_crops": {k: list(v) for k, v in IMAGE_CROPS.items()},
        "recordings": {k: list(v) for k, v in RECORDINGS.items()},
        "scales": SCALES,
        "versions": {
            "kymatio": kymatio.__version__, "torch": torch.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "scikit-image": skimage.__version__,
            "python": platform.python_version(),
        },
        "command": "python tests/reference/generate_reference.py",
    }
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(OUTPUT, **arrays)
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size / 1024:.1f} kB)", file=sys.stderr)
    for key, value in arrays.items():
        if key != "meta":
            print(f"  {key}: {value.dtype} {value.shape}", file=sys.stderr)


if __name__ == "__main__":
    main()
