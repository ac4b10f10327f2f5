#!/bin/sh
# Run FidelityJob on real Flink 2.3.0 in a local MiniCluster and summarise it.
#
#   flink-measure/run.sh RATE_PER_S COST_US aligned|unaligned DURATION_S OUT_DIR
#
# Flink's jars come from PyPI (the `apache-flink-libraries` wheel carries flink-dist and its
# dependencies), so the only things needed are Java 11+ and pip. They are cached under
# ${FLINK_MEASURE_CACHE:-$HOME/.cache/snapsim-flink-measure}. Keep the machine otherwise idle while it
# runs: the job is CPU-bound by design, and anything else on the cores changes what it measures.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${FLINK_MEASURE_CACHE:-$HOME/.cache/snapsim-flink-measure}
lib="$cache/flink-2.3.0/pyflink/lib"
if [ ! -f "$lib/flink-dist-2.3.0.jar" ]; then
    mkdir -p "$cache/wheel" "$cache/flink-2.3.0"
    pip download --quiet --no-deps apache-flink-libraries==2.3.0 -d "$cache/wheel"
    (cd "$cache/flink-2.3.0" && unzip -q -o "$cache"/wheel/apache_flink_libraries-2.3.0-*.whl 'pyflink/lib/*')
fi
mkdir -p "$cache/classes"
javac -nowarn -cp "$lib/*" -d "$cache/classes" "$here/FidelityJob.java"
java --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED \
    --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED \
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
    --add-opens=java.base/java.io=ALL-UNNAMED \
    -Dlog4j.configurationFile="$here/log4j2.properties" \
    -cp "$lib/*:$cache/classes" FidelityJob "$@"
python3 "$here/analyze.py" "$5"
