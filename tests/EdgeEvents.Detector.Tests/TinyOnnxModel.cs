using System.Text;

namespace EdgeEvents.Detector.Tests;

/// <summary>
/// Writes a minimal ONNX model by hand (protobuf wire format): <c>images [batch, 3, S, S]</c> → Reshape →
/// <c>output0 [batch, 4 + C, A]</c>, with a dynamic batch dimension. The "detections" are the input pixels rearranged:
/// meaningless, but deterministic per image, which is what a test of batching needs (the shipped models have a fixed batch of 1).
/// With <c>divideByZero</c> the output is then divided by 0, so every value is NaN or infinite: a broken model. With
/// <c>nanOnBlack</c> 0 is divided by the output instead: zeros (no detections) for a bright image, NaN for a black one, a
/// model that breaks on some input only. With <c>flat</c> the output is <c>[batch, values]</c>: an ONNX model, not a detector.
/// </summary>
internal static class TinyOnnxModel
{
    public static void Write(string path, int size, int classes, bool divideByZero = false, bool nanOnBlack = false, bool flat = false)
    {
        var divides = divideByZero || nanOnBlack;
        var values = 3 * size * size;
        var rows = 4 + classes;
        if (values % rows != 0) throw new ArgumentException($"3·{size}² is not divisible by {rows}.");
        var anchors = values / rows;
        var shape = Message(w =>
        {
            w.Varints(1, [flat ? 2 : 3]); // dims
            w.Varint(2, 7);             // INT64
            w.Varints(7, flat ? [-1, rows * anchors] : [-1, rows, anchors]);
            w.String(8, "shape");
        });
        var zero = Message(w =>
        {
            w.Varint(2, 1);             // FLOAT scalar
            w.String(8, "zero");
            w.Bytes(9, new byte[4]);    // raw_data: 0f
        });
        var graph = Message(w =>
        {
            w.Bytes(1, Message(n =>
            {
                n.String(1, "images");
                n.String(1, "shape");
                n.String(2, divides ? "reshaped" : "output0");
                n.String(3, "reshape");
                n.String(4, "Reshape");
            }));
            if (divides)
            {
                w.Bytes(1, Message(n =>
                {
                    n.String(1, nanOnBlack ? "zero" : "reshaped");
                    n.String(1, nanOnBlack ? "reshaped" : "zero");
                    n.String(2, "output0");
                    n.String(3, "divide");
                    n.String(4, "Div");
                }));
                w.Bytes(5, zero);
            }
            w.String(2, "tiny");
            w.Bytes(5, shape);
            w.Bytes(11, ValueInfo("images", ["batch", 3, size, size]));
            w.Bytes(12, ValueInfo("output0", flat ? ["batch", rows * anchors] : ["batch", rows, anchors]));
        });
        var model = Message(w =>
        {
            w.Varint(1, 7); // IR version
            w.String(2, "edge-events-tests");
            w.Bytes(7, graph);
            w.Bytes(8, Message(o => { o.String(1, ""); o.Varint(2, 13); }));
        });
        File.WriteAllBytes(path, model);
    }

    private static byte[] ValueInfo(string name, object[] dims) => Message(w =>
    {
        w.String(1, name);
        w.Bytes(2, Message(type => type.Bytes(1, Message(tensor =>
        {
            tensor.Varint(1, 1); // FLOAT
            tensor.Bytes(2, Message(shape =>
            {
                foreach (var dim in dims)
                    shape.Bytes(1, Message(d => { if (dim is string p) d.String(2, p); else d.Varint(1, (int)dim); }));
            }));
        }))));
    });

    private static byte[] Message(Action<Writer> build)
    {
        var writer = new Writer();
        build(writer);
        return writer.Stream.ToArray();
    }

    private sealed class Writer
    {
        public MemoryStream Stream { get; } = new();

        public void Varint(int field, long value)
        {
            Tag(field, 0);
            Raw((ulong)value);
        }

        /// <summary>A packed repeated int64 field.</summary>
        public void Varints(int field, long[] values)
        {
            var packed = new Writer();
            foreach (var v in values) packed.Raw((ulong)v);
            Bytes(field, packed.Stream.ToArray());
        }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public void Bytes(int field, byte[] value)
        {
            Tag(field, 2);
            Raw((ulong)value.Length);
            Stream.Write(value);
        }

        private void Tag(int field, int wireType) => Raw((ulong)((field << 3) | wireType));

        private void Raw(ulong value)
        {
            while (value >= 0x80)
            {
                Stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            Stream.WriteByte((byte)value);
        }
    }
}
