import Testing

@testable import HoldpointCore

@Suite struct ShellParserTests {
    func argv(_ line: String) -> [[String]] {
        ShellParser.parse(line).commands.map { $0.words.map(\.text) }
    }

    @Test func splitsListsAndPipelines() {
        #expect(argv("a 1; b 2 && c || d | e & f") == [["a", "1"], ["b", "2"], ["c"], ["d"], ["e"], ["f"]])
        #expect(argv("a\nb") == [["a"], ["b"]])
    }

    @Test func removesQuotesAndEscapes() {
        #expect(argv(#"echo 'a b' "c \"d\" \$e" f\ g"#) == [["echo", "a b", #"c "d" $e"#, "f g"]])
        #expect(argv(#""git" re'set' --h"ar"d"#) == [["git", "reset", "--hard"]])
        #expect(argv(#"\rm -rf x"#) == [["rm", "-rf", "x"]])
    }

    @Test func decodesANSICQuoting() {
        #expect(argv(#"$'\x72\x6d' -rf $'\057'"#) == [["rm", "-rf", "/"]])
    }

    @Test func findsCommandsInSubstitutionsAndSubshells() {
        let commands = argv("echo $(rm -rf /) `shred x`; (cd /; mkfs.ext4 /dev/sda); cat <(curl x)")
        #expect(commands.contains(["rm", "-rf", "/"]))
        #expect(commands.contains(["shred", "x"]))
        #expect(commands.contains(["cd", "/"]))
        #expect(commands.contains(["mkfs.ext4", "/dev/sda"]))
        #expect(commands.contains(["curl", "x"]))
    }

    @Test func marksExpansionsDynamic() {
        let words = ShellParser.parse(#"rm -rf "$DIR/x" ${HOME} plain"#).commands[0].words
        #expect(words.map(\.isDynamic) == [false, false, true, true, false])
    }

    @Test func readsRedirectionsAndHeredocs() {
        let script = ShellParser.parse("psql db <<'SQL' > out.txt 2>&1\nDROP TABLE users;\nSQL\necho done")
        #expect(script.problems.isEmpty)
        #expect(script.commands.count == 2)
        #expect(script.commands[0].words.map(\.text) == ["psql", "db"])
        #expect(script.commands[0].stdinTexts == ["DROP TABLE users;"])
        #expect(script.commands[0].redirections.map(\.op) == ["<<", ">", "2>&"])
        #expect(script.commands[1].words.map(\.text) == ["echo", "done"])
    }

    @Test func hereStringsAndPipes() {
        let script = ShellParser.parse("redis-cli <<< FLUSHALL; curl x | sh")
        #expect(script.commands[0].stdinTexts == ["FLUSHALL"])
        #expect(script.commands[2].readsPipe)
        #expect(script.commands[2].words.map(\.text) == ["sh"])
    }

    @Test func nameValueWordsAfterTheProgramAreArguments() {
        #expect(argv("dd if=/dev/zero of=/dev/sda bs=1M") == [["dd", "if=/dev/zero", "of=/dev/sda", "bs=1M"]])
        #expect(argv("env PATH=/bin rm x") == [["env", "PATH=/bin", "rm", "x"]])
    }

    @Test func assignmentsAreNotTheProgram() {
        let command = ShellParser.parse("FOO=1 BAR='x y' git push").commands[0]
        #expect(command.assignments.map(\.name) == ["FOO", "BAR"])
        #expect(command.words.map(\.text) == ["git", "push"])
    }

    @Test func compoundCommandsExposeTheirBodies() {
        #expect(argv("if true; then rm -rf x; fi").contains(["rm", "-rf", "x"]))
        #expect(argv("for f in a b; do shred $f; done").contains(["shred", "$f"]))
        #expect(argv("while read l; do echo $l; done").contains(["read", "l"]))
        let bomb = ShellParser.parse(":(){ :|:& };:")
        #expect(bomb.definedFunctions == [":"])
    }

    @Test func reportsWhatItCannotFollow() {
        #expect(!ShellParser.parse("echo 'unterminated").problems.isEmpty)
        #expect(!ShellParser.parse("echo $(rm -rf /").problems.isEmpty)
        #expect(!ShellParser.parse("case $x in a) rm -rf /;; esac").problems.isEmpty)
        let deep = String(repeating: "$(", count: 40) + "x" + String(repeating: ")", count: 40)
        #expect(!ShellParser.parse(deep).problems.isEmpty)
    }
}
