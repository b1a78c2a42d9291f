# Sourced by the device scripts (bench/device_check.sh, bench/device_train.sh) on a lent GPU machine:
# unpacks what bench/device_kit.sh built here and the device tool carried there (.gl: the headless
# OpenGL loaders for NVIDIA's EGL; .whl: PyTorch3D, smplx, moderngl for its Python) and sets PY.
export PYTHONUNBUFFERED=1
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}  # DEVICE=cpu SMOKE=1 tries a whole device script on any machine

if compgen -G ".gl/*.deb" >/dev/null; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  # NVIDIA's EGL for moderngl's headless context (the synthetic renderers).
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
if compgen -G ".whl/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
fi

device_environment() {  # the machine and the packages, into $1
  {
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    "$PY" -c "import torch, torchvision, pytorch3d, smplx, moderngl, cv2; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '-'); print('pytorch3d', pytorch3d.__version__, 'smplx ok, moderngl', moderngl.__version__, 'cv2', cv2.__version__)"
    echo "cores $(nproc)"
  } 2>&1 | tee "$1"
}
