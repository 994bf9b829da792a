"""Formulas of derived indicators, parsed safely (never `eval`).

A formula is arithmetic over indicator codes: `(WHEAT_IMP - WHEAT_EXP) / (WHEAT_PROD + WHEAT_IMP -
WHEAT_EXP) * 100`. Only numbers, indicator codes, + - * / and parentheses are allowed; the parsed tree
is evaluated by walking it, with pandas Series or plain floats as values.
"""

import ast
import operator
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def parse_formula(formula: str) -> ast.Expression:
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as error:
        raise ValidationError(_("The formula is not valid arithmetic: %(error)s"), params={"error": error.msg})
    for node in ast.walk(tree):
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Load, *_OPERATORS)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            continue
        if isinstance(node, ast.Name) and _CODE.match(node.id):
            continue
        if not isinstance(node, allowed):
            raise ValidationError(_("The formula may use only numbers, indicator codes, + - * / and parentheses."))
    return tree


def formula_codes(formula: str) -> set[str]:
    """The indicator codes a formula reads."""
    return {node.id for node in ast.walk(parse_formula(formula)) if isinstance(node, ast.Name)}


def evaluate_formula(formula: str, values: dict[str, Any]) -> Any:
    """Evaluate with `values[code]` for each code; works element-wise on pandas Series."""

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.UnaryOp):
            operand = walk(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            return _OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        raise ValidationError(_("Unsupported formula element."))

    return walk(parse_formula(formula))
