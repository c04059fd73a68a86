"""Build the name lists that personal-data masking reads (crisis_nlp/resources/names_*.txt).

Run: python tools/build_name_lists.py PATH/TO/names-0.3.0.tar.gz

Sources:
- First names and surnames: the US Census Bureau's 1990 frequency lists (a work of the US
  government, public domain), as carried by the PyPI package ``names`` 0.3.0 (MIT licence;
  only the census data is used). Surnames are cut at the most frequent ``--last-top``.
- Names of origins the 1990 lists under-count (Arabic, South and East Asian, African,
  Hispanic, Native American, Slavic, ...), written here (``EXTRA_*``).
- ``names_stop.txt``: list names that are also dispatch or everyday words ("will", "hope",
  "bridge", "knife"): these are masked only where the context says a name follows. It is
  the names that occur in lower case in the synthetic training notes, in the shorthand
  table, the concept lexicon or the negation rules, or in ``ENGLISH`` below.
- ``names_vocab.txt``: the other words of those sources, and the Spanish words of ``SPANISH``
  that are on no name list. A capitalised word next to a
  listed name is taken as part of the name unless it is one of these ('Aisha Mbeki':
  'Mbeki' is on no list; 'Aisha called': 'called' is a word of the notes).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RES = ROOT / "crisis_nlp" / "resources"

EXTRA_FIRST = """
aaliyah abdi abdul abdullah abdullahi abebe abena abigail abimbola abu adebayo adel adriana afua ahmad ahmed
ahmet aisha aiyana akira akosua ali alejandra alejandro alessandro aleksandr alexei alfonso alhassan alicia
alim alina alisha alvaro amadou amal amara amari amina amir amit amrita anaya ananya andres anh anil anjali
anthony antonio anuj aparna arash arjun armando arturo asad ashok ashraf asma ayaan ayanna ayesha aylin
bao babajide bashir beatriz bich bilal binh bogdan bongani camila carlos catalina cesar chanel chayton
chen chidi chinedu chioma chiara cuong dae daejon dakota daniela darius darnell dashawn deandre deepak
deja demetrius deshawn desmond devon dhruv diego dmitri dong duc dung ebony efua emeka emre enrique
esperanza esteban fahad faisal farah fariba farid farida fatima fatma fernanda fernando fiona francisco
gabriela gaurav giovanni gonzalo guadalupe gustavo hadiza hai hakim halima hamza hana hanh haruto hasan
hassan hiroshi hoang hong hui huong hussein ibrahim ifeoma ignacio imani imran ines irina isabela ismail
ivan jabari jafar jamal jamila jasmin javier jaylen jin jing jiwoo joaquin jorge jose juan julio kamal
kareem karim kavya kayla keisha kemal kenji keyshawn khadija khalid khalil kiara kofi kwame kwabena
lakisha lamar laquisha larisa latasha latisha latoya latrice leticia li lian ling linh lupe luis mahmoud
malik malika manuel marisol marquis mateo mehmet mei miguel mihai min minh minji mohamed mohammad
mohammed moises mthunzi muhammad mustafa nadia naveen nayeli neha ngoc nguyen nikhil nkechi noor nour
nuno obinna oksana olga olumide omar oscar pablo parisa pedro pooja prakash priya priyanka quang quynh
rafael raheem rahul raj rajesh ramon rashad rashid rasheed reza ricardo rohan rosalind rosario saanvi
sadia saeed sahar salma samir sanjay santiago sergei seung shanice shaniqua shanti shreya sina siddharth
sione somchai sung sunil svetlana tamika tanisha tariq tatiana thanh thi thu tomas trang tuan tyrone
tyrese uchenna usman valentina vikram vivek wei xavier xiaoming xin xochitl yan yasmin yesenia yong
yousef youssef yuki yuna yusuf zahra zainab zanele zeynep zhang zhao zhen zhou zoltan
"""

EXTRA_LAST = """
abdi abdullah adebayo adeyemi afolabi agarwal ahmed akhtar al-amin ali alvarez amin anwar asante
bai banerjee begum bello bhatt bui castillo chaudhry chen cheng chowdhury chung cruz dang das
delgado deng dinh do dominguez duong eze fernandez gomez gonzalez gupta guzman haddad hakimi
hamid hashemi hernandez ho hoang hossain hu huang hussain hussein ibrahim iyer jaramillo jiang
kaur khalil khan kim kowalski kozlov kumar kuznetsov lam le lee li lin liu lopez luong ly
mahmoud malik mehta mendoza mishra mohamed mohammed morales mukherjee musa nair naidoo ng
ngo nguyen nwosu obi odhiambo okafor okeke okonkwo okoro oyelaran patel petrov pham phan
popescu qureshi rahman ramirez rao reddy reyes rodriguez romero rossi saleh sanchez santos
shah sharma siddiqui singh suzuki tahir tanaka tran trinh truong vargas vasquez vo vu wang
watanabe wu xu yamamoto yang yilmaz yusuf zhang zhao zhou zhu tallbear yellowhorse begaye
tsosie yazzie benally nez redcloud whitehorse runningbear
"""

# everyday and dispatch words that are also names, beyond what the notes show in lower case
ENGLISH = """
ta alter barns beard canning chess coy crafts dart hopping juliet romeo lam lust nay rank rife shad sill skates
tack vigil wile
will hope grace may june april august bill faith art rose mark neal joy dawn summer autumn winter spring
sky storm rock stone hill brook rivers lane park wood woods field price rich young long short little
small large black white brown green gray grey gold silver pearl ruby amber crystal ivy holly heather
daisy lily iris violet jasmine poppy fern sage reed bush berry cherry olive ginger candy honey sugar
brandy sherry chance chase hunter archer carter cook baker butler fisher porter miller mason taylor
turner walker ward warren wells west north south east king queen prince major sargent sheriff marshal
judge deputy trooper officer pastor bishop dean chief rusty sandy dusty buddy bud guy sonny babe bunny
kitty doc ace red blue jack pat sue don ken gene al ed eve ray dot bob van frank earnest ernest jewel
sterling noble lord love luck glad mercy patience prudence charity trinity destiny harmony melody star
sunny misty rain raven robin jay wren dove lark cliff dale glen heath forest marsh moss rowan ash birch
oak pine cedar elm aspen willow laurel hazel clay flint steel iron cash penny nickel bond banks bank
sharp strong wise hardy good best bright gay moody happy merry jolly bliss free cross church chapel
temple house hall home street road way london paris austin dallas houston phoenix jordan georgia virginia
carolina dakota montana nevada india china asia africa america israel ireland holland england france
wales chad cuba kenya angel precious unique royal reign legend messiah saint miracle blessing genesis
bridge bridges knife gun gunn blade shank rope cane pill pills hung long kill still hang cutter shot
shots bullet bullets fire burns burn cutting booze drink drinker beer wine bottle jumper
man mann boy child baby son sons daughter wife husband mother father brother sister friend uncle aunt
nurse doctor driver guard soldier marine navy army sailor pilot bear wolf fox hawk eagle crow swan
bird fish bass pike trout lamb bull colt ox deer buck hart drake finch sparrow parrot
age day days night week weeks month year years time today now soon early late
case unit apt room rm suite floor lot block center court drive place circle
call caller phone cell text page post mail haven bye
jan feb mar apr jun jul aug sep sept oct nov dec january february march july september october november december
mon tue tues wed thu thur thurs fri sat sun monday tuesday wednesday thursday friday saturday sunday
denver aurora orlando augusta helena troy raleigh cleveland dayton memphis nashville reno tucson tulsa wichita
omaha boise billings casper cody laramie sheridan gillette riverton lander rawlins worland camden
"""
#: Spanish words of bilingual call notes (bank b8, stop 20): words of the notes, never taken
#: for an unlisted name. Those that are also listed names ("su", "del", "le", "bueno") are
#: not added by this list, so that they stay maskable: as everyday words (names_stop.txt)
#: they let real surnames through ("caller Maria Bueno", tried at stop 20). Caution: the
#: b8 notes hold them in lower case, so a rebuild puts them in names_stop.txt through
#: corpus_words(); take them out of ``stop`` before writing if you rebuild
SPANISH = """
a abuela abuelo ahi ahora al algo alguien alla ansiedad aqui asi ayer ayuda ayudame bien borracha borracho
buena bueno cabeza calle cama camioneta carro casa come comer como con contra corazon corazón cosa cosas
cuando cuarto cuchillo curandera de del dia dice dicen dijo dolor donde dormir dos duerme el ella ellos en
eres es esa ese eso esposa esposo esta estaba estan este estoy está familia favor fue fui golpeo golpeó grita
gritando habla hablar hace hay hermana hermano hija hijo hijos hombre la las le les llora llorando lo los
luego mal mala malo mama mamá mas matar me mi miedo migra mio mis morir muerta muerto mujer murio murió muy
nada nadie nerviosa nervioso ni nieta nieto nina nino niña niño no noche nos novia novio nuestra nuestro otra
otro panico para pastillas pego pegó pero perro pistola poco policia policía por porque prima primo puede
pueden pánico que quien quiere quieren quiero respirar sale salir sangre se semana semanas senor senora señor
señora si sin sola solita solito solo soy su suegra suegro sus tambien también tengo tia tiene tienen tio toda
todo todos tomando tomo tomó triste tu tía tío un una uno unos usted vecina vecino ver vez vieja viejo voces
voz y ya yo
"""
NEVER_NOTE = "function words are never masked: see _NEVER in crisis_nlp/preprocess/text.py"


def census(tar: tarfile.TarFile, member: str, top: int | None = None) -> list[str]:
    f = tar.extractfile(member)
    assert f is not None
    out = []
    for line in f.read().decode("ascii").splitlines():
        parts = line.split()
        if parts:
            out.append(parts[0].lower())
    return out[:top] if top else out


#: a word: letters of any script, so that "tomó" is one word and not "tom" + "ó"
WORD = r"[^\W\d_]+(?:['-][^\W\d_]+)*"


def corpus_words() -> set[str]:
    """Words in lower case in the synthetic notes and the words of the rule files: the
    vocabulary a classifier needs (the gold notes stay out: they are the test)."""
    words: set[str] = set()
    word = re.compile(WORD)
    with gzip.open(ROOT / "training_data_synthetic" / "notes.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            words.update(w for w in word.findall(json.loads(line)["text"]) if w.islower())
    # the names the generator gives people (wrapping/identity.json) reach the notes in lower
    # case through case augmentation; they are names, not words of the notes
    words -= generator_names()
    return words | rule_file_words()


def rule_file_words() -> set[str]:
    """The words of the rule files whose words a classifier reads."""
    word = re.compile(WORD)
    return {w for name in ("shorthand.tsv", "concepts.json", "context_rules.json")
            for w in word.findall((RES / name).read_text(encoding="utf-8").lower())}


def generator_names() -> set[str]:
    """Every first name and surname the synthetic-note generator draws, in lower case."""
    identity = json.loads((ROOT / "training_data_synthetic" / "wrapping" / "identity.json").read_text(encoding="utf-8"))
    by_sex = identity["first_names"].values()
    lists = [names for origins in by_sex for names in origins.values()] + list(identity["last_names"].values())
    return {part for names in lists for name in names for part in name.lower().split()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names_sdist", type=Path, help="names-0.3.0.tar.gz (pip download names==0.3.0 --no-deps)")
    ap.add_argument("--last-top", type=int, default=20000, help="most frequent census surnames to keep")
    args = ap.parse_args()
    with tarfile.open(args.names_sdist) as tar:
        first = set(census(tar, "names-0.3.0/names/dist.male.first")) | set(census(tar, "names-0.3.0/names/dist.female.first"))
        last = set(census(tar, "names-0.3.0/names/dist.all.last", args.last_top))
    first |= set(EXTRA_FIRST.split())
    last |= set(EXTRA_LAST.split())
    vocab = corpus_words() | set(ENGLISH.split())
    stop = (first | last) & vocab
    vocab |= set(SPANISH.split()) - first - last
    header = ("# {what}; built by tools/build_name_lists.py from the US Census 1990 name frequency lists\n"
              "# (public domain, via the PyPI package `names` 0.3.0, MIT) and hand-written lists; one a line, lower case\n")
    for fname, what, items in (("names_first.txt", "first names", first), ("names_last.txt", "surnames", last),
                               ("names_stop.txt", "names that are also everyday or dispatch words (masked only after a "
                                "cue)", stop),
                               ("names_vocab.txt", "words of the notes, never taken for an unlisted name", vocab - first - last)):
        (RES / fname).write_text(header.format(what=what) + "\n".join(sorted(items)) + "\n", encoding="utf-8")
        print(f"{fname}: {len(items)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
