using EdgeEvents.Contracts.Messages;
using EdgeEvents.Llm.Questions;
using EdgeEvents.Pipeline.Transport;

namespace EdgeEvents.Llm.Tests;

public sealed class QuestionLedger_Tests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("edge-ledger-");

    private static PendingQuestion Pending(string asker, string id) =>
        new(new Question { Id = id, Text = "Any cars?", Asker = asker },
            new AnswerRoute($"edge/answers/{asker}", $"edge/answers/{asker}", asker),
            new ReceivedMessage($"edge/questions/{asker}", "Any cars?"u8.ToArray()), 0);

    private static Answer AnswerTo(PendingQuestion pending) => new()
    {
        Id = Answer.IdFor(pending.Question.Asker, pending.Question.Id),
        QuestionId = pending.Question.Id,
        Question = pending.Question.Text,
        Asker = pending.Question.Asker,
        Text = "Two cars.",
    };

    [Fact]
    public void An_answered_question_is_remembered_per_asker_across_a_restart_and_a_copy_in_flight_is_acknowledged_with_it()
    {
        var path = QuestionLedger.PathBeside(Path.Combine(_folder.FullName, "llm.outbox.db"));
        var first = Pending("alice", "1");
        using (var ledger = QuestionLedger.Open(path, capacity: 10))
        {
            Assert.Equal(Admission.New, ledger.Admit(first, out _));
            var copy = Pending("alice", "1");
            Assert.Equal(Admission.InFlight, ledger.Admit(copy, out _));
            Assert.Equal([first.Message, copy.Message], ledger.Answer(first, AnswerTo(first)));
        }

        using var reopened = QuestionLedger.Open(path, capacity: 10);

        Assert.Equal(Admission.Answered, reopened.Admit(Pending("alice", "1"), out var again));
        Assert.Equal((AnswerTo(first).Id, "Two cars."), (again!.Id, again.Text));
        Assert.Equal(Admission.New, reopened.Admit(Pending("bob", "1"), out _));
    }

    [Fact]
    public void The_oldest_answers_are_forgotten_beyond_the_capacity()
    {
        using var ledger = QuestionLedger.InMemory(capacity: 2);
        foreach (var id in new[] { "1", "2", "3" })
        {
            var pending = Pending("alice", id);
            ledger.Admit(pending, out _);
            ledger.Answer(pending, AnswerTo(pending));
        }

        Assert.Equal(2, ledger.Answered);
        Assert.Equal(Admission.New, ledger.Admit(Pending("alice", "1"), out _));
        Assert.Equal(Admission.Answered, ledger.Admit(Pending("alice", "3"), out _));
    }

    public void Dispose() => _folder.Delete(recursive: true);
}
