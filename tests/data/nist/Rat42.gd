# NIST StRD Rat42 (higher difficulty): y = b1 / (1+exp[b2-b3*x]) + e
# certified values, data and both starts: Rat42.json / Rat42.csv
param b1 = 100, b2 = 1, b3 = 0.1    # NIST start 1
# NIST start 2: b1 = 75, b2 = 2.5, b3 = 0.07
data x, y
model f = b1/(1 + exp(b2 - b3*x))
loss sum((f - y)^2)
