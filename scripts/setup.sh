#!/usr/bin/env bash
# setup.sh installs every system package vst-go needs on Debian 12. Idempotent:
# packages already installed are skipped, and it prints what it does.
#
#   scripts/setup.sh            packages the build, the tests and the demo need
#   scripts/setup.sh --torch    also Debian's python3-torch (benchmark anchor only)
set -euo pipefail

# Packages needed by the build, the tests and `make demo`. Grows as components land.
base=(
	ca-certificates
	git
	make
	gcc
	g++
	pkg-config
	libc6-dev
	# the openpi interop test of policy/server (a Python msgpack-numpy client)
	python3
	python3-numpy
	python3-msgpack
	python3-websockets
	# the simulator (sim, sim/mujoco): MuJoCo 2.2.2 and CPU offscreen OpenGL
	libmujoco-dev
	libosmesa6-dev
	# the ROS 1 integration tests (robot/ros1): a real master and the rostopic
	# CLI; the message packages give rostopic its Python message classes
	python3-rosmaster
	python3-rostopic
	python3-std-msgs
	python3-geometry-msgs
	python3-sensor-msgs
	python3-trajectory-msgs
	# the camera (robot/camera, gocv v0.31.0): Debian's OpenCV 4.6 with its
	# FFmpeg video backend
	libopencv-dev
	# the MQTT tests (robot/mqtt): a real broker started on a free port
	mosquitto
	mosquitto-clients
	# the ROS 2 transport (robot/ros2, build tag ros2): CycloneDDS 0.10.2 and idlc
	cyclonedds-dev
	cyclonedds-tools
)
# The CPU reference for `make bench-compare`; never a dependency of the product.
torch=(python3 python3-numpy python3-torch libopenblas0-pthread)

want=("${base[@]}")
for arg in "$@"; do
	case "$arg" in
	--torch) want+=("${torch[@]}") ;;
	*) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${want[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		continue
	fi
	missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all ${#want[@]} system packages present"
else
	echo "setup: installing ${missing[*]}"
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -o DPkg::Lock::Timeout=600 -qq
	$sudo apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
need="1.26"
have=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
if [ -z "$have" ]; then
	echo "setup: Go $need or newer is required (https://go.dev/dl); not found" >&2
	exit 1
fi
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
	echo "setup: Go $need or newer is required, found $have" >&2
	exit 1
fi
echo "setup: go $have"
go mod download
echo "setup: Go modules ready"
