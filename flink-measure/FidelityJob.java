// The job that snapsim's reference scenarios model, run on real Flink in a local MiniCluster.
//
// Two rate-limited generator sources -> keyBy(key) -> a keyed running sum (one ValueState<Long> per
// key) that busy-waits `cost` microseconds per record, counts the records and samples their
// latency -> a chained discarding sink. Checkpoints every second, one at a time, hashmap state
// backend.
//
// Usage: java FidelityJob RATE_PER_S COST_US aligned|unaligned|at-least-once DURATION_S OUT_DIR
//            [KEYS [INTERVAL_MS [TASK_MANAGERS]]]
// KEYS: 1000 unless given; the keys are the Longs 0 .. KEYS-1, one after another. INTERVAL_MS: the
// checkpoint interval, 1000 unless given. TASK_MANAGERS: 1 (two slots) unless given; with 2, each
// task manager has one slot, so the hash exchange crosses between them (remote channels).
// It writes, from the MiniCluster's REST API: OUT_DIR/checkpoints.json (the checkpoint history),
// OUT_DIR/subtasks-<id>.json (the keyed vertex's per-subtask details of every completed checkpoint),
// OUT_DIR/job.json and OUT_DIR/vertex-<id>.json (the plan, and where each subtask ran) and
// OUT_DIR/metrics-<vertex>-<subtask>.json (bytes and records in and out, at the end); and
// OUT_DIR/sink.tsv (each second: records at the sink so far, and the latency median of the records
// sampled that second) and OUT_DIR/args.txt (the arguments).
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.CheckpointingMode;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;

public class FidelityJob {
    static final AtomicLong SINK_COUNT = new AtomicLong();
    static final ConcurrentLinkedQueue<Long> LATENCY_SAMPLES_MS = new ConcurrentLinkedQueue<>();

    /** The keyed sum with a busy-wait of cost_us per record; counts and samples latency (the sink). */
    public static class Sum extends KeyedProcessFunction<Long, Tuple3<Long, Long, Long>, Long> {
        final long costNs;
        transient ValueState<Long> sum;
        transient long seen;

        Sum(long costUs) {
            this.costNs = costUs * 1000;
        }

        @Override
        public void open(OpenContext ctx) {
            sum = getRuntimeContext().getState(new ValueStateDescriptor<>("sum", Types.LONG));
        }

        @Override
        public void processElement(Tuple3<Long, Long, Long> r, Context ctx, Collector<Long> out)
                throws Exception {
            long until = System.nanoTime() + costNs;
            while (System.nanoTime() < until) {}
            Long s = sum.value();
            sum.update((s == null ? 0 : s) + r.f1);
            SINK_COUNT.incrementAndGet();
            if ((++seen & 63) == 0) {
                LATENCY_SAMPLES_MS.add(System.currentTimeMillis() - r.f2);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        double rate = Double.parseDouble(args[0]);
        long costUs = Long.parseLong(args[1]);
        boolean unaligned = args[2].equals("unaligned");
        boolean atLeastOnce = args[2].equals("at-least-once");
        int durationS = Integer.parseInt(args[3]);
        Path out = Path.of(args[4]);
        long keys = args.length > 5 ? Long.parseLong(args[5]) : 1000;
        long intervalMs = args.length > 6 ? Long.parseLong(args[6]) : 1000;
        int taskManagers = args.length > 7 ? Integer.parseInt(args[7]) : 1;
        Files.createDirectories(out);
        Files.writeString(out.resolve("args.txt"), String.join(" ", args) + "\n");

        Configuration conf = new Configuration();
        conf.setString("rest.port", "18081");
        conf.setString("web.checkpoints.history", "1000");
        conf.setString("state.backend.type", "hashmap");
        conf.setString("execution.checkpointing.interval", intervalMs + " ms");
        conf.setString("minicluster.number-of-taskmanagers", Integer.toString(taskManagers));
        conf.setString("taskmanager.numberOfTaskSlots", Integer.toString(2 / taskManagers));
        conf.setString("execution.checkpointing.max-concurrent-checkpoints", "1");
        conf.setString("execution.checkpointing.min-pause", "0 ms");
        conf.setString("execution.checkpointing.timeout", "10 min");
        conf.setString("execution.checkpointing.unaligned.enabled", Boolean.toString(unaligned));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        env.enableCheckpointing(
                intervalMs, atLeastOnce ? CheckpointingMode.AT_LEAST_ONCE : CheckpointingMode.EXACTLY_ONCE);

        GeneratorFunction<Long, Tuple3<Long, Long, Long>> gen =
                i -> Tuple3.of(i % keys, 1L, System.currentTimeMillis());
        DataGeneratorSource<Tuple3<Long, Long, Long>> source = new DataGeneratorSource<>(
                gen, Long.MAX_VALUE, RateLimiterStrategy.perSecond(rate),
                Types.TUPLE(Types.LONG, Types.LONG, Types.LONG));
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "source")
                .keyBy(r -> r.f0, Types.LONG)
                .process(new Sum(costUs))
                .name("sum")
                .sinkTo(new DiscardingSink<>())
                .name("sink");

        JobClient job = env.executeAsync("fidelity");
        JobID id = job.getJobID();
        List<String> sink = new ArrayList<>();
        long start = System.currentTimeMillis();
        for (int s = 1; s <= durationS; s++) {
            Thread.sleep(Math.max(0, start + s * 1000L - System.currentTimeMillis()));
            List<Long> lat = new ArrayList<>();
            Long l;
            while ((l = LATENCY_SAMPLES_MS.poll()) != null) lat.add(l);
            Collections.sort(lat);
            long p50 = lat.isEmpty() ? -1 : lat.get(lat.size() / 2);
            sink.add(s + "\t" + SINK_COUNT.get() + "\t" + p50);
        }
        Files.write(out.resolve("sink.tsv"), sink);

        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:18081/jobs/" + id;
        String history = get(http, base + "/checkpoints");
        Files.writeString(out.resolve("checkpoints.json"), history);
        String plan = get(http, base);
        Files.writeString(out.resolve("job.json"), plan);
        // The keyed vertex is the one whose name begins with the keyed function's ("sum -> sink").
        String vertex = null;
        Matcher named = Pattern.compile("\"id\":\"([0-9a-f]{32})\"[^{}]*?\"name\":\"([^\"]*)\"").matcher(plan);
        while (named.find()) {
            String v = named.group(1);
            if (named.group(2).startsWith("sum")) vertex = v;
            Files.writeString(out.resolve("vertex-" + v + ".json"), get(http, base + "/vertices/" + v));
            for (int subtask = 0; subtask < 2; subtask++) {
                Files.writeString(out.resolve("metrics-" + v + "-" + subtask + ".json"),
                        get(http, base + "/vertices/" + v + "/subtasks/" + subtask
                                + "/metrics?get=numBytesOut,numRecordsOut,numBytesIn,numRecordsIn"));
            }
        }
        Matcher ids = Pattern.compile("\"id\":(\\d+),\"status\":\"COMPLETED\"").matcher(history);
        while (ids.find() && vertex != null) {
            String cid = ids.group(1);
            Files.writeString(out.resolve("subtasks-" + cid + ".json"),
                    get(http, base + "/checkpoints/details/" + cid + "/subtasks/" + vertex));
        }
        job.cancel().get();
        System.out.println("vertex " + vertex + "; wrote " + out);
        System.exit(0);
    }

    static String get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }
}
