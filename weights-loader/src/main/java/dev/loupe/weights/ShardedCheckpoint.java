package dev.loupe.weights;

import dev.loupe.tensor.DType;
import dev.loupe.tensor.Tensor;
import dev.loupe.weights.json.Json;
import dev.loupe.weights.json.JsonException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A checkpoint split into shards by Hugging Face ({@code model.safetensors.index.json} or
 * {@code pytorch_model.bin.index.json}): the index's {@code "weight_map"} names the shard file of every tensor. Each
 * shard is opened once; every mapped name must exist in its shard. Shard names must be plain file names in the
 * index's folder (an index cannot point elsewhere on disk). The index's {@code "metadata"} values are exposed as
 * strings (e.g. {@code total_size}).
 */
final class ShardedCheckpoint implements Checkpoint {
    @FunctionalInterface
    interface Opener {
        Checkpoint open(Path file) throws IOException;
    }

    private final Path index;
    private final List<Checkpoint> shards;
    private final Map<String, Checkpoint> owner; // float tensors only, in index order
    private final Map<String, String> skipped;
    private final Map<String, String> metadata;

    private ShardedCheckpoint(Path index, List<Checkpoint> shards, Map<String, Checkpoint> owner,
            Map<String, String> skipped, Map<String, String> metadata) {
        this.index = index;
        this.shards = List.copyOf(shards);
        this.owner = Collections.unmodifiableMap(owner);
        this.skipped = Collections.unmodifiableMap(skipped);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /** Opens {@code index} and its shards with {@code opener}; on any failure the shards opened so far are closed. */
    static Checkpoint open(Path index, Opener opener) throws IOException {
        Map<?, ?> json;
        try {
            if (!(Json.parse(Files.readString(index)) instanceof Map<?, ?> m)) {
                throw new WeightFileException(index, "index is not a JSON object");
            }
            json = m;
        } catch (JsonException e) {
            throw new WeightFileException(index, "not valid JSON: " + e.getMessage(), e);
        }
        if (!(json.get("weight_map") instanceof Map<?, ?> weightMap) || weightMap.isEmpty()) {
            throw new WeightFileException(index, "no \"weight_map\" object naming the shard of each tensor");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        if (json.get("metadata") instanceof Map<?, ?> meta) {
            meta.forEach((k, v) -> metadata.put((String) k, String.valueOf(v)));
        }
        Map<String, Checkpoint> byFile = new LinkedHashMap<>();
        try {
            Map<String, Checkpoint> owner = new LinkedHashMap<>();
            Map<String, String> skipped = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : weightMap.entrySet()) {
                String name = (String) e.getKey();
                if (!(e.getValue() instanceof String shardName) || !isPlainFileName(shardName)) {
                    throw new WeightFileException(index, name, "shard " + e.getValue()
                            + " is not a plain file name in the index's folder");
                }
                Checkpoint shard = byFile.get(shardName);
                if (shard == null) {
                    shard = opener.open(index.resolveSibling(shardName));
                    byFile.put(shardName, shard);
                }
                if (shard.names().contains(name)) {
                    owner.put(name, shard);
                } else if (shard.skipped().containsKey(name)) {
                    skipped.put(name, shard.skipped().get(name));
                } else {
                    throw new WeightFileException(index, name, "mapped to shard " + shardName
                            + ", which does not contain it");
                }
            }
            return new ShardedCheckpoint(index, new ArrayList<>(byFile.values()), owner, skipped, metadata);
        } catch (IOException | RuntimeException e) {
            byFile.values().forEach(Checkpoint::close);
            throw e;
        }
    }

    private static boolean isPlainFileName(String s) {
        return !s.isEmpty() && !s.equals(".") && !s.equals("..") && s.indexOf('/') < 0 && s.indexOf('\\') < 0
                && s.indexOf('\0') < 0 && s.indexOf(':') < 0;
    }

    @Override
    public Path path() {
        return index;
    }

    @Override
    public Set<String> names() {
        return owner.keySet();
    }

    @Override
    public Tensor get(String name) {
        return shard(name).get(name);
    }

    @Override
    public DType dtype(String name) {
        return shard(name).dtype(name);
    }

    @Override
    public int[] shape(String name) {
        return shard(name).shape(name);
    }

    @Override
    public Map<String, String> skipped() {
        return skipped;
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public void close() {
        shards.forEach(Checkpoint::close);
    }

    private Checkpoint shard(String name) {
        Checkpoint c = owner.get(name);
        if (c == null) throw MappedCheckpoint.unknown(index, name, names(), skipped);
        return c;
    }
}
