# NIST StRD Thurber (higher difficulty): y = (b1 + b2*x + b3*x**2 + b4*x**3) / (1 + b5*x + b6*x**2 + b7*x**3) + e
# certified values, data and both starts: Thurber.json / Thurber.csv
param b1 = 1000, b2 = 1000, b3 = 400, b4 = 40, b5 = 0.7, b6 = 0.3, b7 = 0.03    # NIST start 1
# NIST start 2: b1 = 1300, b2 = 1500, b3 = 500, b4 = 75, b5 = 1, b6 = 0.4, b7 = 0.05
data x, y
model f = (b1 + b2*x + b3*x^2 + b4*x^3)/(1 + b5*x + b6*x^2 + b7*x^3)
loss sum((f - y)^2)
