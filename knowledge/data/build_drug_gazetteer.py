"""Derive knowledge/data/drugs_zh_thuocl.txt (Chinese drug names) from the THUOCL medical lexicon.

THUOCL (https://github.com/thunlp/THUOCL, data/THUOCL_medical.txt, MIT, © 2018 THUNLP) is a general
medical vocabulary: drugs mixed with diseases, symptoms, tests and hospital words. Kept are only
terms that name a medicine: those written with a dosage form (…片, …胶囊, …注射液, …滴眼液) and bare
names ending in an INN-style stem (…沙星, …他汀, …替尼, …他滨). Each is stored with its dosage form
and salt removed (氯霉素滴眼液 → 氯霉素, 甲磺酸伊马替尼 → 伊马替尼), which is how the structurer
looks names up. Run:

    python knowledge/data/build_drug_gazetteer.py ../shared/data/drug-vocab-zh/THUOCL_medical.txt
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

OUT = Path(__file__).with_name("drugs_zh_thuocl.txt")

FORMS = (r"(?:口腔崩解片|肠溶缓释片|缓释片|控释片|肠溶片|分散片|咀嚼片|口崩片|泡腾片|薄膜衣片|含片|肠溶胶囊|缓释胶囊|软胶囊|胶囊|片|颗粒|冲剂|注射液|"
         r"注射剂|粉针|口服液|口服溶液|干混悬剂|混悬剂|混悬液|滴丸|气雾剂|吸入剂|粉雾剂|喷雾剂|贴剂|贴膏|贴片|软膏|乳膏|眼膏|凝胶|"
         r"滴眼液|滴耳液|滴鼻液|眼用凝胶|栓|丸|散|糖浆|酊|搽剂|洗剂|合剂|溶液)")
SALTS = (r"(?:苯磺酸|马来酸|酒石酸|琥珀酸|盐酸|硫酸氢|硫酸|富马酸|甲磺酸|氢溴酸|枸橼酸|门冬氨酸|磷酸|醋酸|草酸|乳酸|"
         r"苯甲酸|甲磺酸|对甲苯磺酸)")
# INN-style endings of drug names written without a dosage form (a conservative list: no bare 酸/醇/素)
STEMS = (r"(?:霉素|沙星|西林|他汀|洛尔|普利|沙坦|地平|拉唑|替丁|肝素|胰岛素|双胍|司琼|替尼|单抗|西泮|唑仑|他滨|铂|紫杉醇|米松|尼松|"
         r"西汀|沙班|格雷|洛芬|卡因|昔布|曲坦|哌齐|康唑|培南|硝唑|噻嗪|普坦|列净|列汀|鲁肽|膦酸|雄胺|罗辛|唑嗪|那新|莫司|昔洛韦|"
         r"他韦|福韦|卡韦|帕利|哌酮|诺酮|孕酮|雌醇|曲唑|昔芬|比坦|利特|地尔|洛芬|美辛|昔康|卡星|环素|头孢[\u4e00-\u9fff]{1,4})$")
NOT_DRUG = re.compile(r"宫颈|涂|刮|切|照|胸|线|光|影|底|名|图|薄|骨|牙|盾|萼|斑|空心|检测|试纸|中毒|过敏|耐药|依赖|综合征|病|症|炎$|"
                      r"试验|实验|血症|感染|治疗|手术|检查|浓度|水平|含量|敏感|耐受|抗体$|^复方$|^小儿$|^维生素$")

# product names that are also everyday words in orders ("感冒时…", "抗病毒治疗")
STOP = {"抗病毒", "抗衰老", "消炎", "降压", "降糖", "止痛", "止咳", "护肝", "补钙", "补血", "通便", "清热", "复方", "小儿", "维生素",
        "感冒清", "感冒灵", "速效感冒", "消炎利胆", "去痛", "止泻", "退热", "解毒", "安神", "镇痛", "镇静", "营养", "多维元素"}

# symptom, disease and remedy words of Chinese patent-medicine names
WORDS = re.compile(r"感冒|咳|痰|喘|溃疡|疼|痛|热|毒|炎|泻|便|眠|神|血|瘀|气|风|湿|寒|暑|火|虚|补|养|益|清|消|止|化|通|活|明目|安|宁|康|舒|乐|"
                   r"灵|宝|丹$|膏$|口服|小儿|儿童|妇|宫|肾|肝|脾|胃|肺|心|脑|骨|筋|筋骨")


def derive(lines: list[str]) -> list[str]:
    names: set[str] = set()
    for line in lines:
        term = line.split("\t")[0].strip()
        if not re.fullmatch(r"[\u4e00-\u9fffA-Za-z0-9·]{2,20}", term):
            continue
        term = re.sub(r"^(?:注射用|外用|口服|复合)", "", term)
        has_form = re.search(rf"{FORMS}$", term) is not None
        core = re.sub(rf"{FORMS}$", "", term)
        core = re.sub(rf"^{SALTS}", "", core)
        if not has_form and not re.search(STEMS, core):
            continue
        if len(core) < 2 or NOT_DRUG.search(core) or re.fullmatch(r"[A-Za-z0-9]+", core) or core in STOP:
            continue
        if len(core) == 2 and not re.search(STEMS, core):   # 感冒(颗粒), 固精(丸): words, not drug names
            continue
        if re.fullmatch(STEMS, core):                        # a bare stem ("霉素") is not a name
            continue
        if not re.search(STEMS, core) and WORDS.search(core):
            continue    # 口腔溃疡(散), 止咳化痰(丸), 清热解毒(片): said in orders as words; such products carry their form

        names.add(core)
    return sorted(names)


def main(path: str) -> None:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    names = derive(lines)
    header = ("# Chinese drug names derived from the THUOCL medical lexicon (MIT, (c) 2018 THUNLP,\n"
              "# https://github.com/thunlp/THUOCL data/THUOCL_medical.txt) by build_drug_gazetteer.py:\n"
              "# dosage forms and salts removed, non-drug words filtered. One name per line.\n")
    OUT.write_text(header + "\n".join(names) + "\n", encoding="utf-8")
    print(f"{len(names)} names -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
