"""Every example in docs/lua-api.md runs: each Lua block after an
<!-- example --> marker is written to a file and taken through setup, a
short run with zero errors, and cleanup, as the page says."""
import os
import re

from harness import SOURCE, StormdbTest, main

EXAMPLE = re.compile(r"<!-- example -->\s*```lua\n(.*?)```", re.S)


def examples(page):
    with open(os.path.join(SOURCE, "docs", page)) as f:
        return EXAMPLE.findall(f.read())


class DocsExamples(StormdbTest):
    def test_lua_api_examples(self):
        found = examples("lua-api.md")
        self.assertGreaterEqual(len(found), 4)
        for i, code in enumerate(found):
            with self.subTest(example=i, first_line=code.splitlines()[0]):
                path = self.script(f"example{i}.lua", code)
                if "setup =" in code:
                    self.assertExit(self.stormdb("setup", path), 0)
                p, result = self.run_json("run", path, "--workers", "2", "--duration", "1s", "--progress", "0")
                self.assertExit(p, 0)
                perf = result["bands"][0]["performance"]
                self.assertGreater(perf["transactions"], 0)
                self.assertEqual(perf["errors"], 0, result["bands"][0]["errors_by_sqlstate"])
                if "cleanup =" in code:
                    self.assertExit(self.stormdb("cleanup", path), 0)


if __name__ == "__main__":
    main()
