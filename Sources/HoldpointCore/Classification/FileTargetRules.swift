/// What writing a file means, by where the file is.
///
/// Editing a source file in the project is a reversible write (supervised). Some files are
/// different: credentials leak or lock people out, CI configuration runs with the
/// pipeline's secrets, infrastructure code changes production on the next apply, and a
/// file outside the project is outside what the agent was asked to work on. Those are
/// named in the verdict and, in production, gated. Holdpoint's own files and the agents'
/// hook settings are blocked (see `SelfProtection`).
enum FileTargetRules {
    struct Category {
        let rule: String
        let message: String
        let pattern: Glob
    }

    static let categories: [Category] = [
        Category(
            rule: "file-credentials", message: "writes a credentials or secrets file",
            pattern: Glob(
                "*/.env|*/.env.*|*.pem|*.key|*.p12|*.pfx|*.jks|*/id_rsa*|*/id_ed25519*|*/id_ecdsa*|*/.ssh/*|*/.aws/credentials|*/.aws/config|*/.kube/config|*/.npmrc|*/.pypirc|*/.netrc|*/.git-credentials|*/.docker/config.json|*secret*|*credential*|*/.gnupg/*|*.tfstate",
                caseInsensitive: true)),
        Category(
            rule: "file-ci-config", message: "writes CI/CD configuration, which runs with the pipeline's secrets",
            pattern: Glob(
                "*/.github/workflows/*|*/.github/actions/*|*/.gitlab-ci.yml|*/.gitlab-ci/*|*/Jenkinsfile|*/.circleci/*|*/azure-pipelines.yml|*/.travis.yml|*/bitbucket-pipelines.yml|*/.buildkite/*|*/.drone.yml|*/cloudbuild.yaml|*/.ci/*"
            )),
        Category(
            rule: "file-infrastructure", message: "writes infrastructure code, which changes real systems when applied",
            pattern: Glob(
                "*.tf|*.tfvars|*.hcl|*/terraform/*|*/helm/*|*/charts/*|*/Chart.yaml|*/values*.yaml|*/k8s/*|*/kubernetes/*|*/manifests/*|*/kustomization.yaml|*/Dockerfile|*/Dockerfile.*|*/docker-compose*.yml|*/compose*.yaml|*/ansible/*|*/playbooks/*|*cloudformation*|*.cfn.yaml|*.cfn.json|*/serverless.yml|*/Pulumi.*|*/cdk.json|*/template.yaml",
                caseInsensitive: true)),
    ]

    static func findings(_ request: ActionRequest, protection: SelfProtection) -> [Finding] {
        var findings: [Finding] = []
        let cwd = request.workingDirectory ?? protection.workingDirectory
        for target in request.targets {
            let path = PathText.normalize(target, relativeTo: cwd, home: protection.homeDirectory)
            if let blocked = protection.checkWrite(path, cwd: cwd) {
                findings.append(blocked)
                continue
            }
            for category in categories where category.pattern.matches(path) {
                findings.append(
                    Finding(
                        rule: category.rule, message: "\(category.message): \(path)",
                        effect: RuleEffect(operationClass: .patch, tier: .supervised, productionTier: .gated), subject: path))
            }
            if let cwd, path.hasPrefix("/"), !PathText.isInside(path, PathText.normalize(cwd, relativeTo: nil, home: protection.homeDirectory)) {
                findings.append(
                    Finding(
                        rule: "file-outside-project", message: "writes outside the project (\(cwd)): \(path)",
                        effect: RuleEffect(operationClass: .patch, tier: .supervised), subject: path))
            }
        }
        if let content = request.content {
            findings += protection.checkText(content, subject: request.targets.first ?? "file content")
        }
        return findings
    }
}
