#!/usr/bin/env bash
# Build, on this machine, what a lent GPU machine lacks to run the benchmarks: wheels for its Python
# (3.12) under .whl/ and the headless OpenGL loaders under .gl/, both git-ignored and carried by the
# device tool (`carry: [".whl", ".gl"]`). Then, there: `bash bench/device_check.sh`.
#
# The GPU machine's image has torch 2.11 (CUDA 13), torchvision, OpenCV, SciPy, tqdm and ONNX Runtime,
# but not PyTorch3D, smplx or moderngl. PyTorch3D's only Linux wheel (easypytorch3d) is 70 MB, over
# what may travel with the tree (64 MiB in all), because its extension keeps its debug symbols: they
# are stripped here (200 MB -> 42 MB; the CUDA kernels in .nv_fatbin stay) and the wheel repacked
# with a RECORD that matches.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
for d in .whl .gl; do grep -qxF "/$d/" .git/info/exclude || echo "/$d/" >> .git/info/exclude; done
rm -rf .whl && mkdir -p .whl

platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${platforms[@]}" \
  -d .whl easypytorch3d==0.7.9.post1 iopath==0.1.9 smplx==0.1.28 moderngl==5.13.0 glcontext==3.1.0

"$PY" -m pip install -q wheel
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PY" -m wheel unpack -d "$work" .whl/easypytorch3d-*.whl
strip --strip-unneeded "$work"/easypytorch3d-*/pytorch3d/_C*.so
rm .whl/easypytorch3d-*.whl
"$PY" -m wheel pack -d .whl "$work"/easypytorch3d-*

# NVIDIA's EGL needs the GL vendor-neutral loaders, which the GPU image lacks (the device tool's
# README gives this recipe): unpacked there by device_check.sh.
rm -rf .gl && mkdir -p .gl /tmp/amd64/partial
o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
apt-get "${o[@]}" update -qq
(cd .gl && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)

du -ch .whl/* .gl/* | tail -1
echo "carry .whl and .gl; run: bash bench/device_check.sh"
