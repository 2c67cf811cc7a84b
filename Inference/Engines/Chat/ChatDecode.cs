using System.Text;
using MultimodalHub.Inference.Runtime.Generation;
using MultimodalHub.Inference.Text;

namespace MultimodalHub.Inference.Engines.Chat;

/// <summary>
/// Turns one sequence's ids into text as they arrive: complete UTF-8 characters only (StreamingDecoder), text held
/// back while it may be the start of a stop sequence, and a stop signal when a stop sequence appears. With a logprob
/// recorder, each delta carries the entries of the tokens recorded since the previous delta.
/// </summary>
public sealed class ChatDecode(ITextTokenizer tokenizer, IReadOnlyList<string> stops, LogprobRecorder? logprobs = null)
{
    private readonly StreamingDecoder _decoder = new(tokenizer, skipSpecialTokens: true);
    private readonly StopSequenceMatcher _stops = new(stops);
    private readonly StringBuilder _text = new();

    public string Text => _text.ToString();

    public bool Stopped => _stops.Stopped;

    /// <summary>Add an id; returns the text now safe to show.</summary>
    public string Push(int id)
    {
        var safe = _stops.Push(_decoder.Push(id));
        _text.Append(safe);
        return safe;
    }

    /// <summary>Add an id of sequence row, send the text now safe to show (if any) as its delta; returns whether a stop sequence appeared.</summary>
    public bool Push(int row, int id, Action<TextDelta> onDelta)
    {
        var text = Push(id);
        if (text.Length > 0) onDelta(new TextDelta(row, text, logprobs?.TakePending()));
        return Stopped;
    }

    /// <summary>At the end: send the rest of sequence row (if any) as its delta.</summary>
    public void Flush(int row, Action<TextDelta> onDelta)
    {
        var rest = Flush();
        var pending = logprobs?.TakePending();
        if (rest.Length > 0 || pending is { Count: > 0 }) onDelta(new TextDelta(row, rest, pending));
    }

    /// <summary>At the end: the rest (held-back text, an unfinished character).</summary>
    public string Flush()
    {
        var rest = _stops.Stopped ? "" : _stops.Push(_decoder.Flush()) + _stops.Flush();
        _text.Append(rest);
        return rest;
    }
}
