def load_demo(reset=False, count=400):
    raise NotImplementedError
