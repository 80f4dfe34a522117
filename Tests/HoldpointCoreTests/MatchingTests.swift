import Testing

@testable import HoldpointCore

/// The pieces rules are matched with. Each is written for speed (byte-level, indexed,
/// precomputed), so these tests hold them to their plain meaning.
@Suite struct GlobTests {
    @Test func alternativesWildcardsAndEscapes() {
        let glob = Glob("delete-*|terminate-?|drop")
        #expect(glob.matches("delete-stack"))
        #expect(glob.matches("delete-"))
        #expect(glob.matches("terminate-x"))
        #expect(!glob.matches("terminate-xy"))
        #expect(glob.matches("drop"))
        #expect(!glob.matches("dropped"))
        #expect(!glob.matches("undelete-stack"))
        #expect(!glob.matches(""))
        // Escaped, `*`, `?` and `|` are the characters themselves.
        let literal = Glob("/\\*|a\\|b")
        #expect(literal.matches("/*"))
        #expect(!literal.matches("/etc"))
        #expect(literal.matches("a|b"))
        #expect(!literal.matches("a"))
        #expect(!literal.matches("b"))
    }

    @Test func starAloneMatchesEverythingAndEmptyAlternativesMatchEmptyText() {
        #expect(Glob("*").matches(""))
        #expect(Glob("*").matches("anything at all"))
        #expect(Glob("x|**").matches("yz"))
        #expect(Glob("a|").matches(""))
        #expect(!Glob("a").matches(""))
        #expect(Glob("*.log").matches(".log"))
        #expect(!Glob("*.log").matches("log"))
    }

    /// Globs turn texts away by their first byte; case-insensitive ones must not turn away
    /// a text that starts with the other case.
    @Test func caseInsensitiveGlobsMatchEitherCase() {
        let glob = Glob("flushall|flushdb", caseInsensitive: true)
        #expect(glob.matches("FLUSHALL"))
        #expect(glob.matches("FlushDB"))
        #expect(glob.matches("flushall"))
        #expect(!glob.matches("GET"))
        #expect(!Glob("flushall").matches("FLUSHALL"))
    }

    @Test func literalAlternativesAreKnownOnlyWithoutWildcards() {
        #expect(Glob("status|log").literalAlternatives == ["status", "log"])
        #expect(Glob("a\\*").literalAlternatives == ["a*"])
        #expect(Glob("delete-*|get").literalAlternatives == nil)
        #expect(Glob("get", caseInsensitive: true).literalAlternatives == nil)
    }

    /// Alternatives' lengths are stored beside a flag bit: a long one (a policy file may
    /// hold anything) must not run into it.
    @Test func longAlternativesMatchExactly() {
        let long = String(repeating: "a", count: 40_000)
        #expect(Glob(long + "|b").matches(long))
        #expect(!Glob(long + "|b").matches(long + "a"))
        #expect(Glob(long + "*").matches(long + "xyz"))
        #expect(Glob(long).literalAlternatives == [long])
    }

    @Test func equalityIsThePattern() {
        #expect(Glob("a|b") == Glob("a|b"))
        #expect(Glob("a|b") != Glob("b|a"))
        #expect(Glob("a") != Glob("a", caseInsensitive: true))
    }
}

@Suite struct FlagSpecTests {
    @Test func oneLetterFlagsAreFoundInClusters() {
        let force = FlagSpec("-f|--force")
        #expect(force.spellings == ["-f", "--force"])
        #expect(force.matches("-f"))
        #expect(force.matches("-rf"))
        #expect(force.matches("-fR"))
        #expect(force.matches("--force"))
        #expect(force.matches("--force=yes"))
        #expect(!force.matches("--forced"))
        #expect(!force.matches("--force-with-lease"))
        #expect(!force.matches("-r"))
        #expect(!force.matches("-1f"), "not a cluster of letters")
        #expect(!force.matches("--fr"), "a long option is not a cluster")
    }

    @Test func longSpellingsTakeValuesAndEmptySpellingsAreDropped() {
        let recursive = FlagSpec("||--recursive|")
        #expect(recursive.spellings == ["--recursive"])
        #expect(recursive.matches("--recursive=1"))
        #expect(!recursive.matches(""))
        // A multi-letter single-dash flag (`-delete`, as find spells it) is matched whole.
        let delete = FlagSpec("-delete")
        #expect(delete.matches("-delete"))
        #expect(!delete.matches("-d"))
        #expect(!delete.matches("-deleted"))
    }
}

@Suite struct RuleIndexTests {
    /// A program's rules are indexed by the first sub-command word they need, and only the
    /// rules whose word is among the first three positionals are tried. The index must never
    /// leave out a rule that would match: for every built-in program, its rules' own words
    /// are put in every position of the window, behind flags and other words, and each rule
    /// the full matcher accepts must be among those tried.
    @Test func theIndexNeverLeavesOutARuleThatMatches() throws {
        let rules = TestData.defaultPolicy.rules
        let all = rules.allRules
        // Each program's rules, and the sub-command words they name (first or later).
        var byProgram: [String: [Int]] = [:]
        for index in all.indices {
            for program in all[index].rule.programs where !program.containsASCII("*") && !program.containsASCII("?") {
                byProgram[program, default: []].append(index)
            }
        }
        var checked = 0
        for (program, own) in byProgram.sorted(by: { $0.key < $1.key }) {
            var words: Set<String> = ["other"]
            for index in own {
                for glob in all[index].rule.subcommand { words.formUnion(glob.literalAlternatives ?? []) }
            }
            for word in words.sorted() {
                for args in [[word], ["-n", "ns", word], ["x", word, "y"], ["x", "y", word], ["--", word], ["x", "y", "z", word], [word, "--all", "-f"]] {
                    let view = ArgumentView(args.map { ShellWord(text: $0) })
                    let tried = Set(rules.lookup(program, positionals: view.positionals).rules.map(ObjectIdentifier.init))
                    for index in own where view.satisfies(all[index]) {
                        #expect(tried.contains(ObjectIdentifier(all[index])), "\(program) \(args.joined(separator: " ")): rule \(all[index].rule.id) matches but was not tried")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked > 500, "the test tried too few matches to mean anything (\(checked))")
    }

    @Test func candidatesComeInPackOrderOnce() throws {
        let rules = TestData.defaultPolicy.rules
        let position = Dictionary(uniqueKeysWithValues: rules.allRules.enumerated().map { (ObjectIdentifier($0.element), $0.offset) })
        // `checkout` and `restore` both name git's checkout/restore rule: it is tried once.
        let view = ArgumentView(["checkout", "restore", "--", "."].map { ShellWord(text: $0) })
        let tried = rules.lookup("git", positionals: view.positionals).rules.compactMap { position[ObjectIdentifier($0)] }
        #expect(tried == tried.sorted())
        #expect(Set(tried).count == tried.count)
        #expect(!tried.isEmpty)
        // A program several packs name gets each pack's rules, in pack order.
        let mixed = rules.lookup("cat", positionals: []).rules.compactMap { position[ObjectIdentifier($0)] }
        #expect(mixed == mixed.sorted())
    }

    /// The built-in packs are made when one of their programs is first looked up, and a set
    /// made from sources answers as one made from the same packs all at once.
    @Test func lazyPacksAnswerAsEagerOnes() throws {
        let lazy = TestData.defaultPolicy.rules
        let eager = RuleSet(packs: lazy.packs)
        for command in ["kubectl delete ns prod", "git push --force", "consul kv get x", "ls -la", "mkfs.ext4 /dev/sdb", "psql -c 'DROP TABLE x'", "someplatform apps list"] {
            let a = try TestData.classify(command)
            var policy = TestData.defaultPolicy
            policy.rules = eager
            let b = try TestData.classify(command, policy: policy)
            #expect(a.tier == b.tier && a.reasons.map(\.rule) == b.reasons.map(\.rule), "\(command)")
        }
    }
}

@Suite struct NeedleTableTests {
    @Test func findsEveryNeedleInOnePassAndAnswersInListOrder() {
        let table = NeedleTable(groups: [["os.system(", "system("], ["rmtree(", "os.remove("], ["`"]])
        let found = table.search(Array("import os; os.remove(p); os.system('ls')".utf8))
        #expect(found.contains(group: 0, index: 0))
        #expect(found.contains(group: 0, index: 1), "system( occurs inside os.system(")
        #expect(found.first(in: 1) == "os.remove(")
        #expect(!found.contains(group: 1, index: 0))
        #expect(found.first(in: 2) == nil)
        #expect(table.search([]).first(in: 0) == nil)
    }
}

@Suite struct DestructiveWordTests {
    @Test func wordsAreSplitAtHumpsAndSymbolsAndFilteredByLength() throws {
        #expect(WordPattern.words(of: "DeleteStack delete-stack storage.buckets.delete x2Y") == ["delete", "stack", "delete", "stack", "storage", "buckets", "delete", "x2", "y"])
        let pattern = try WordPattern("delete|drop")
        #expect(pattern.matches("aws cloudformation DeleteStack"))
        #expect(pattern.matches("DROP TABLE users"))
        #expect(!pattern.matches("deleted.txt"))
        #expect(!pattern.matches("dropbox sync"))
        #expect(!pattern.matches(""))
    }
}
