"""Two import-linter contract types the built-in ones cannot express (used by `lint-imports`,
configured in pyproject.toml).

- ``forbidden_names``: import-linter sees an external package only as its top-level name
  (``django``), so "no ``django.http`` in services" needs the import statements themselves;
  grimp keeps them (``get_import_details``), and this contract reads them.
- ``no_cycles``: no module of the given packages can reach itself through imports (a cycle
  makes import order matter and hides which module depends on which).
"""

import grimp
from importlinter import Contract, ContractCheck, fields, output


def _matching(graph: grimp.ImportGraph, expressions) -> set[str]:
    found: set[str] = set()
    for expression in expressions:
        found |= set(graph.find_matching_modules(expression.expression))
    return found


class ForbiddenNamesContract(Contract):
    """The source modules (expressions with * and **) import no module named in ``forbidden``
    (dotted prefixes, external subpackages allowed, e.g. ``django.http``)."""

    type_name = "forbidden_names"

    source_modules = fields.ListField(subfield=fields.ModuleExpressionField())
    forbidden = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        prefixes = [str(name) for name in self.forbidden]  # type: ignore[attr-defined]
        roots = {prefix.split(".")[0] for prefix in prefixes}
        violations = []
        for module in sorted(_matching(graph, self.source_modules)):  # type: ignore[attr-defined]
            for root in sorted(roots):
                if root not in graph.modules:
                    continue
                for detail in graph.get_import_details(importer=module, imported=root):
                    statement = detail["line_contents"]
                    if any(_names(statement, prefix) for prefix in prefixes):
                        violations.append((module, detail["line_number"], statement))
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for module, line, statement in check.metadata["violations"]:
            output.print_error(f"{module}:{line}: {statement}")
            output.new_line()


def _names(statement: str, prefix: str) -> bool:
    """Whether an import statement imports ``prefix`` or something inside it."""
    words = statement.replace(",", " ").split()
    if words[:1] == ["from"] and len(words) > 3:
        module = words[1]
        imported = [f"{module}.{name}" for name in words[3:] if name not in {"(", ")", "as"}]
        candidates = [module, *imported]
    else:
        candidates = [word for word in words[1:] if word != "as"]
    return any(name == prefix or name.startswith(prefix + ".") for name in candidates)


class NoCyclesContract(Contract):
    """No import cycle among the modules of ``packages`` (except the ``ignore_imports`` arrows)."""

    type_name = "no_cycles"

    packages = fields.ListField(subfield=fields.ModuleExpressionField())
    ignore_imports = fields.ListField(subfield=fields.ImportExpressionField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        for ignored in self.ignore_imports or []:  # type: ignore[attr-defined]
            for importer in graph.find_matching_modules(ignored.importer.expression):
                for imported in graph.find_matching_modules(ignored.imported.expression):
                    if graph.direct_import_exists(importer=importer, imported=imported):
                        graph.remove_import(importer=importer, imported=imported)
        modules = set()
        for expression in self.packages:  # type: ignore[attr-defined]
            for module in graph.find_matching_modules(expression.expression):
                modules |= {module, *graph.find_descendants(module)}
        cycles = []
        seen: set[frozenset[str]] = set()
        for module in sorted(modules):
            for imported in sorted(graph.find_modules_directly_imported_by(module) & modules):
                back = graph.find_shortest_chain(importer=imported, imported=module)
                if back:
                    cycle = (module, *back)
                    key = frozenset(cycle)
                    if key not in seen:
                        seen.add(key)
                        cycles.append(cycle)
        return ContractCheck(kept=not cycles, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error(" -> ".join(cycle))
            output.new_line()
