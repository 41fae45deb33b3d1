"""`vars:` and `{{name}}`: where variables are filled in, which one wins, the literal `{{`, and
the errors (KB401 unknown variable, KB402 a `{{` that is no place), each with a near miss."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kling_batch.manifest import Diagnostic, Manifest, load
from kling_batch.manifest.templates import TemplateSyntax, compile_template, id_rule

WriteManifest = Callable[..., Path]
Diagnose = Callable[..., list[Diagnostic]]
Spot = Callable[..., tuple[int, int]]


def loaded(write_manifest: WriteManifest, text: str) -> Manifest:
    return load(write_manifest(text))


def errors(found: list[Diagnostic]) -> list[tuple[str, str | None, str | None]]:
    return [(d.code, d.entry, d.field) for d in found if d.is_error]


# --- the syntax ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values", "filled"),
    [
        ("{{a}}", {"a": "x"}, "x"),
        ("{{ a }} and {{b}}", {"a": "x", "b": "y"}, "x and y"),
        ("{{a}}{{a}}", {"a": "x"}, "xx"),
        ('{{ "{{" }}a}} stays', {}, "{{a}} stays"),
        ("a }} alone, { and } too", {}, "a }} alone, { and } too"),
        ("{{a}} {x}", {"a": "{y}"}, "{y} {x}"),  # values go in as they are
    ],
)
def test_a_template_fills_in_its_places(text: str, values: dict[str, str], filled: str) -> None:
    template = compile_template(text)
    assert (template.render(values) if template is not None else text) == filled


def test_text_without_a_place_is_no_template() -> None:
    assert compile_template("a cat under the moon") is None


@pytest.mark.parametrize(
    ("text", "wording"),
    [
        ("{{a", "not closed"),
        ("x {{}}", "names no variable"),
        ("{{ product name }}", "(`{{product_name}}`?)"),
        ("{{2x}}", "not starting with a digit"),
        ('{{ "unclosed }}', "is not a variable"),
    ],
)
def test_a_brace_pair_that_is_no_place_is_refused(text: str, wording: str) -> None:
    with pytest.raises(TemplateSyntax) as raised:
        compile_template(text)
    assert wording in raised.value.message
    assert 'a literal {{ is {{ "{{" }}' in raised.value.message


@pytest.mark.parametrize(
    ("made", "folder_name"),
    [
        ("mug-16:9", "mug-16-9"),
        ("a  b//c", "a-b-c"),
        ("ok.name_1-x", "ok.name_1-x"),
        ("猫 cat", "-cat"),
    ],
)
def test_the_id_rule(made: str, folder_name: str) -> None:
    assert id_rule(made) == folder_name


# --- where variables go, and which wins ----------------------------------------------------


def test_every_text_field_of_an_entry_is_filled_in(write_manifest: WriteManifest) -> None:
    manifest = loaded(
        write_manifest,
        """
        version: 1
        vars: {who: cat, host: "https://example.com"}
        shots:
          - id: "shot-{{who}}"
            model: omni
            prompt: "<<<image_1>>> a {{who}} runs"
            negative_prompt: "no {{who}} blur"
            aspect_ratio: "1:1"
            media:
              - {type: refer, url: "{{host}}/{{who}}.jpg"}
        storyboards:
          - id: "board-{{who}}"
            shot_type: customize
            aspect_ratio: "1:1"
            multi_prompt:
              - {prompt: "the {{who}} wakes", duration: 3}
        """,
    )
    shot, board = manifest.entries
    assert (shot.id, shot.prompt, shot.negative_prompt) == (
        "shot-cat",
        "<<<image_1>>> a cat runs",
        "no cat blur",
    )
    assert shot.media[0].url == "https://example.com/cat.jpg"
    assert (board.id, board.multi_prompt[0].prompt) == ("board-cat", "the cat wakes")


def test_a_local_path_is_filled_in_then_resolved(write_manifest: WriteManifest) -> None:
    path = write_manifest(
        """
        version: 1
        vars: {picture: start}
        shots:
          - id: frame
            prompt: it opens
            media:
              - {type: first_frame, path: "assets/flower-{{picture}}.png"}
        """
    )
    (path.parent / "assets").mkdir()
    source = Path(__file__).resolve().parents[2] / "manifests" / "assets" / "flower-start.png"
    (path.parent / "assets" / "flower-start.png").write_bytes(source.read_bytes())
    [entry] = load(path).entries
    assert entry.media[0].path == (path.parent / "assets" / "flower-start.png").resolve()


def test_last_wins_manifest_entry_matrix_row(write_manifest: WriteManifest) -> None:
    folder = write_manifest("", name="unused.yaml").parent
    (folder / "r.csv").write_text("n,by_row\n1,row\n")
    manifest = loaded(
        write_manifest,
        """
        version: 1
        vars: {by_manifest: manifest, by_entry: manifest, by_matrix: manifest, by_row: manifest}
        defaults: {aspect_ratio: "1:1"}
        shots:
          - id: "e-{{n}}"
            prompt: "{{by_manifest}} {{by_entry}} {{by_matrix}} {{by_row}}"
            vars: {by_entry: entry, by_matrix: entry, by_row: entry}
            matrix: {by_matrix: [matrix], by_row: [matrix]}
            rows: r.csv
        """,
    )
    assert [e.prompt for e in manifest.entries] == ["manifest entry matrix row"]


def test_defaults_are_filled_in_from_the_manifest_vars(write_manifest: WriteManifest) -> None:
    manifest = loaded(
        write_manifest,
        """
        version: 1
        vars: {brand: Acme}
        defaults: {aspect_ratio: "1:1", prompt: "{{brand}} spot"}
        shots:
          - id: a
        """,
    )
    assert manifest.entries[0].prompt == "Acme spot"


def test_a_literal_brace_pair_is_sent_as_written(write_manifest: WriteManifest) -> None:
    manifest = loaded(
        write_manifest,
        """
        version: 1
        shots:
          - id: a
            prompt: 'say {{ "{{" }}hello}}'
            aspect_ratio: "1:1"
        """,
    )
    assert manifest.entries[0].prompt == "say {{hello}}"


def test_an_entry_without_templates_is_left_as_written(write_manifest: WriteManifest) -> None:
    manifest = loaded(
        write_manifest,
        """
        version: 1
        vars: {unused: x}
        shots:
          - {id: a, prompt: "a cat, {curly} braces", aspect_ratio: "1:1"}
        """,
    )
    [entry] = manifest.entries
    assert (entry.prompt, entry.origin, entry.group, entry.take) == (
        "a cat, {curly} braces",
        None,
        None,
        None,
    )


# --- KB401: an unknown variable ------------------------------------------------------------

UNKNOWN = """
version: 1
vars: {product: mug}
shots:
  - id: "ad-{{product}}"
    prompt: "a {{produt}} on a table"
    aspect_ratio: "1:1"
"""


def test_an_unknown_variable_is_named_where_it_is_used(diagnose: Diagnose, spot: Spot) -> None:
    [found] = diagnose(UNKNOWN)
    assert (found.code, found.entry, found.field) == ("KB401", "ad-{{product}}", "prompt")
    assert (found.position.line, found.position.column) == spot(UNKNOWN, '"a {{produt}}')
    assert "did you mean `product`?" in found.message
    assert "(the variables here: product)" in found.message


def test_near_miss_the_variable_is_defined(diagnose: Diagnose) -> None:
    assert diagnose(UNKNOWN.replace("produt", "product")) == []


def test_without_any_variable_the_message_says_where_to_define_one(diagnose: Diagnose) -> None:
    [found] = diagnose('version: 1\nshots: [{id: a, prompt: "{{x}}", aspect_ratio: "1:1"}]\n')
    assert found.code == "KB401"
    assert "define it in `vars:` ({x: ...})" in found.message
    assert 'a literal {{ as {{ "{{" }}' in found.message


def test_an_unknown_variable_in_defaults(diagnose: Diagnose) -> None:
    text = 'version: 1\ndefaults: {prompt: "{{brand}} ad", aspect_ratio: "1:1"}\nshots: [{id: a}]\n'
    [found] = [d for d in diagnose(text) if d.code == "KB401"]
    assert (found.entry, found.field, found.position.line) == (None, "defaults.prompt", 2)
    assert "`defaults` know only the manifest's `vars:`" in found.message
    assert diagnose("version: 1\nvars: {brand: A}\n" + text.split("\n", 1)[1]) == []


INCLUDED = """
version: 1
shots:
  - id: "s-{{product}}-{{colour}}"
    prompt: "{{product}} in {{colour}}"
    aspect_ratio: "1:1"
    matrix:
      product: [mug]
      include: [{product: vase, colour: red}]
"""


def test_a_variable_that_only_an_include_defines(diagnose: Diagnose, spot: Spot) -> None:
    # Defined somewhere, so only the check of each combination sees that mug lacks it.
    [found] = diagnose(INCLUDED)
    assert (found.code, found.field) == ("KB401", "id")
    assert (found.position.line, found.position.column) == spot(INCLUDED, '"s-{{')
    near_miss = INCLUDED.replace("product: [mug]", "product: [mug]\n      colour: [blue]")
    assert errors(diagnose(near_miss)) == []


def test_an_include_that_lacks_a_variable_is_named(diagnose: Diagnose) -> None:
    text = INCLUDED.replace("product: [mug]", "product: [mug]\n      colour: [blue]").replace(
        "{product: vase, colour: red}", "{product: vase}"
    )
    [found] = diagnose(text)
    assert found.code == "KB401"
    assert found.message.endswith("(for include[0]: product=vase)")


# --- KB402: a `{{` that is no place --------------------------------------------------------

BAD_PLACE = """
version: 1
vars: {product_name: mug}
shots:
  - id: ad
    prompt: "a {{ product name }} on a table"
    aspect_ratio: "1:1"
"""


def test_a_brace_pair_that_is_no_place_is_an_error(diagnose: Diagnose, spot: Spot) -> None:
    [found] = diagnose(BAD_PLACE)
    assert (found.code, found.entry, found.field) == ("KB402", "ad", "prompt")
    assert (found.position.line, found.position.column) == spot(BAD_PLACE, '"a {{')
    assert "(`{{product_name}}`?)" in found.message


def test_near_miss_the_place_names_a_variable(diagnose: Diagnose) -> None:
    assert diagnose(BAD_PLACE.replace("{{ product name }}", "{{ product_name }}")) == []


def test_an_unquoted_template_gets_a_hint(diagnose: Diagnose) -> None:
    flow = "version: 1\nvars: {b: x}\nshots:\n  - id: a\n    prompt: {{b}} mug\n"
    [syntax] = diagnose(flow)
    assert syntax.code == "KB004"
    assert 'quote a text with variables: "{{brand}} mug"' in syntax.message
    alone = (
        'version: 1\nvars: {b: x}\nshots:\n  - id: a\n    prompt: {{b}}\n    aspect_ratio: "1:1"\n'
    )
    [key] = [d for d in diagnose(alone) if d.code == "KB013"]
    assert "this is not a key but a {{variable}}" in key.message
    assert diagnose(alone.replace("{{b}}", '"{{b}}"')) == []


def test_variable_names_are_checked_by_the_schema(diagnose: Diagnose, spot: Spot) -> None:
    text = 'version: 1\nvars: {"my-var": x}\nshots: [{id: a, prompt: p, aspect_ratio: "1:1"}]\n'
    [found] = diagnose(text)
    assert (found.code, found.field) == ("KB105", "vars.my-var")
    assert "letters, digits and '_'" in found.message
    assert diagnose(text.replace("my-var", "my_var")) == []
