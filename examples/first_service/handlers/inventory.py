STOCK = {"apple": 3, "pear": 0}


def get_stock(item):
    return {"item": item, "count": STOCK.get(item, 0)}
