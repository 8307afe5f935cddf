"""What the nightly workflow runs between the benchmark and GitHub: small, tested scripts.

The YAML only calls these modules, so its logic is tested here against a local bare git
repository standing in for GitHub. Standard library only, except `estimate` (it reads the
case matrix): the merge and issue jobs run on small hosted runners without the frameworks.
"""
